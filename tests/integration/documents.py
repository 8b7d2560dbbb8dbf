"""The GraphQL documents the integration suite sends, as a storefront and the Dashboard would."""

import graphene


def global_id(type_name, pk):
    return graphene.Node.to_global_id(type_name, pk)


AVAILABLE_GATEWAYS = """
query Gateways($id: ID!) {
  checkout(id: $id) {
    totalPrice { gross { amount currency } }
    availablePaymentGateways { id name currencies config { field value } }
  }
}
"""

PAYMENT_CREATE = """
mutation PaymentCreate($id: ID!, $input: PaymentInput!) {
  checkoutPaymentCreate(id: $id, input: $input) {
    payment { id chargeStatus total { amount currency } }
    errors { field code message }
  }
}
"""

CHECKOUT_COMPLETE = """
mutation Complete($id: ID!, $paymentData: JSONString) {
  checkoutComplete(id: $id, paymentData: $paymentData) {
    order { id number status paymentStatus total { gross { amount currency } } }
    confirmationNeeded
    confirmationData
    errors { field code message }
  }
}
"""
